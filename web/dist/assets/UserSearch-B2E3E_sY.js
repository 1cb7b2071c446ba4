import{a as e}from"./rolldown-runtime-DoHqwKmD.js";import{a as t,n}from"./preload-helper-BGqbAlK5.js";import{t as r}from"./PageStatus-BHoC90eM.js";import{f as i,m as a}from"./index-ztfaxJ23.js";import{t as o}from"./useDebounced-C1w2ac5V.js";import{l as s,s as c,t as l}from"./shared-BEd7kF1C.js";var u=e(t(),1),d=n(),f=i(`
  query PeopleSearch($search: String!, $first: Int!, $after: String) {
    users(search: $search, first: $first, after: $after) {
      pageInfo {
        hasNextPage
        endCursor
      }
      nodes {
        id
        username
        displayName
        avatar {
          url(size: 128)
        }
      }
    }
  }
`);function p(e){let t=(0,u.useId)(),[n,r]=(0,u.useState)(``),i=s(n),a=o(i?``:c(n),250),[f,p]=(0,u.useState)({search:``,cursors:[null]}),h=f.search===a?f.cursors:[null],g=e=>p({search:a,cursors:[...h,e]});return(0,d.jsxs)(`div`,{className:`f-user-search`,children:[(0,d.jsx)(`label`,{htmlFor:`${t}-q`,className:`f-label`,children:e.label}),(0,d.jsx)(`input`,{id:`${t}-q`,type:`search`,value:n,autoComplete:`off`,spellCheck:!1,placeholder:`Name or username`,"aria-describedby":`${t}-hint`,"aria-invalid":i?!0:void 0,onChange:e=>r(e.target.value)}),(0,d.jsx)(`p`,{id:`${t}-hint`,className:`f-hint`,children:e.hint??`Type part of a name or username.`}),(0,d.jsx)(l,{message:i}),a!==``&&(0,d.jsx)(`ul`,{className:`f-people`,"aria-label":`Results for “${a}”`,children:h.map((t,n)=>(0,d.jsx)(m,{search:a,after:t,last:n===h.length-1,first:n===0,onMore:g,renderUser:e.renderUser,hideIds:e.hideIds},t??``))})]})}function m(e){let[t,n]=a({query:f,variables:{search:e.search,first:20,after:e.after},requestPolicy:`cache-and-network`}),{data:i,fetching:o,error:s}=t;if(!i)return(0,d.jsx)(r,{error:s,fetching:o,busyText:`Searching…`,onRetry:()=>n({requestPolicy:`network-only`})});let c=i.users.nodes.filter(t=>!e.hideIds?.has(t.id)),{hasNextPage:l,endCursor:u}=i.users.pageInfo;return(0,d.jsxs)(d.Fragment,{children:[e.first&&c.length===0&&!l&&(0,d.jsxs)(`li`,{className:`f-people-status f-muted`,role:`status`,children:[`Nobody found for “`,e.search,`”.`]}),c.map(t=>(0,d.jsx)(`li`,{className:`f-person`,children:e.renderUser(t)},t.id)),e.last&&l&&u&&(0,d.jsx)(`li`,{className:`f-people-status`,children:(0,d.jsx)(`button`,{type:`button`,onClick:()=>e.onMore(u),children:`Show more people`})})]})}export{p as t};