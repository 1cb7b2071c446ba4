import{a as e}from"./rolldown-runtime-DoHqwKmD.js";import{a as t,n}from"./preload-helper-BGqbAlK5.js";import{c as r,s as i,u as a}from"./index-D3DEdPjY.js";import{t as o}from"./useDebounced-C1w2ac5V.js";import{c as s,o as c}from"./shared-BcgDlr9b.js";var l=e(t(),1),u=n(),d=r(`
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
`);function f(e){let t=(0,l.useId)(),[n,r]=(0,l.useState)(``),i=s(n),a=o(i?``:c(n),250),[d,f]=(0,l.useState)({search:``,cursors:[null]}),m=d.search===a?d.cursors:[null],h=e=>f({search:a,cursors:[...m,e]});return(0,u.jsxs)(`div`,{className:`f-user-search`,children:[(0,u.jsx)(`label`,{htmlFor:`${t}-q`,className:`f-label`,children:e.label}),(0,u.jsx)(`input`,{id:`${t}-q`,type:`search`,value:n,autoComplete:`off`,spellCheck:!1,placeholder:`Name or username`,"aria-describedby":`${t}-hint`,"aria-invalid":i?!0:void 0,onChange:e=>r(e.target.value)}),(0,u.jsx)(`p`,{id:`${t}-hint`,className:`f-hint`,children:e.hint??`Type part of a name or username.`}),i&&(0,u.jsx)(`p`,{role:`alert`,className:`f-error`,children:i}),a!==``&&(0,u.jsx)(`ul`,{className:`f-people`,"aria-label":`Results for “${a}”`,children:m.map((t,n)=>(0,u.jsx)(p,{search:a,after:t,last:n===m.length-1,first:n===0,onMore:h,renderUser:e.renderUser,hideIds:e.hideIds},t??``))})]})}function p(e){let[t,n]=a({query:d,variables:{search:e.search,first:20,after:e.after},requestPolicy:`cache-and-network`}),{data:r,fetching:o,error:s}=t;if(!r)return s?(0,u.jsxs)(`li`,{className:`f-people-status`,children:[(0,u.jsx)(`p`,{role:`alert`,className:`f-error`,children:i(s)}),(0,u.jsx)(`button`,{type:`button`,onClick:()=>n({requestPolicy:`network-only`}),children:`Try again`})]}):(0,u.jsx)(`li`,{className:`f-people-status f-muted`,"aria-live":`polite`,children:o?`Searching…`:``});let c=r.users.nodes.filter(t=>!e.hideIds?.has(t.id)),{hasNextPage:l,endCursor:f}=r.users.pageInfo;return(0,u.jsxs)(u.Fragment,{children:[e.first&&c.length===0&&!l&&(0,u.jsxs)(`li`,{className:`f-people-status f-muted`,role:`status`,children:[`Nobody found for “`,e.search,`”.`]}),c.map(t=>(0,u.jsx)(`li`,{className:`f-person`,children:e.renderUser(t)},t.id)),e.last&&l&&f&&(0,u.jsx)(`li`,{className:`f-people-status`,children:(0,u.jsx)(`button`,{type:`button`,onClick:()=>e.onMore(f),children:`Show more people`})})]})}export{f as t};