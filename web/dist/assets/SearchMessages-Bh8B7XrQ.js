import{a as e}from"./rolldown-runtime-DoHqwKmD.js";import{a as t,n}from"./preload-helper-BGqbAlK5.js";import{c as r,d as i,f as a,r as o,s,u as c}from"./index-D3DEdPjY.js";import{n as l}from"./format-CICpAGAx.js";import{t as u}from"./useDebounced-C1w2ac5V.js";import{a as d,o as f}from"./shared-BcgDlr9b.js";var p=e(t(),1),m=/[\p{L}\p{N}]+/gu;function h(e){let t=new Set;for(let n of e.normalize(`NFC`).matchAll(/(-?)"([^"]*)"?|(\S+)/g)){let e;if(n[2]!==void 0){if(n[1]===`-`)continue;e=n[2]}else{let t=n[3];if(t.startsWith(`-`)||t.toLowerCase()===`or`)continue;e=t}for(let n of e.matchAll(m))t.add(n[0].toLowerCase())}return[...t].sort((e,t)=>t.length-e.length||e.localeCompare(t))}function g(e){return e.replace(/[.*+?^${}()|[\]\\]/g,`\\$&`)}function _(e,t){if(e===``)return[];if(t.length===0)return[{text:e,match:!1}];let n=t.map(g).join(`|`),r=RegExp(`(?<![\\p{L}\\p{N}])(?:${n})(?![\\p{L}\\p{N}])`,`giu`),i=[],a=0;for(let t of e.matchAll(r)){let n=t.index;t[0]!==``&&(n>a&&i.push({text:e.slice(a,n),match:!1}),i.push({text:t[0],match:!0}),a=n+t[0].length)}return a<e.length&&i.push({text:e.slice(a),match:!1}),i}function v(e,t,n=280){if(e.length<=n)return e;let r=0,i=0;for(let a of _(e,t)){if(a.match){r=Math.max(0,i-Math.floor(n/3));break}i+=a.text.length}if(r>0){let t=e.indexOf(` `,r);t!==-1&&t-r<20&&(r=t+1)}let a=Math.min(e.length,r+n);if(a<e.length){let t=e.lastIndexOf(` `,a);t>r+n-20&&(a=t)}let o=t=>t>0&&t<e.length&&/[\uDC00-\uDFFF]/.test(e[t])?t-1:t;return r=o(r),a=o(a),`${r>0?`…`:``}${e.slice(r,a)}${a<e.length?`…`:``}`}function y(e,t){if(e.kind===`GROUP`)return e.title??`Group`;let n=e.members.find(e=>e.user.id!==t);return n?`Chat with ${n.user.displayName}`:`Direct chat`}function b(e,t){return e.id===t?`You`:e.displayName}var x=n(),S=r(`
  query SearchMessages($text: String!, $first: Int!, $after: String) {
    searchMessages(text: $text, first: $first, after: $after) {
      pageInfo {
        hasNextPage
        endCursor
      }
      nodes {
        id
        body
        createdAt
        editedAt
        sender {
          id
          displayName
          avatar {
            url(size: 128)
          }
        }
        session {
          id
          kind
          title
          members {
            user {
              id
              displayName
            }
          }
        }
      }
    }
  }
`);function C(e){let t=(0,p.useId)(),[n,r]=(0,p.useState)(``),[i,a]=(0,p.useState)(null),o=f(n),s=o===``?null:d(n),c=u(s?``:o,400),l=i===o?o:c,[m,h]=(0,p.useState)({search:``,cursors:[null]}),g=m.search===l?m.cursors:[null];return(0,x.jsxs)(`section`,{className:`f-page`,"aria-labelledby":`${t}-h`,children:[(0,x.jsx)(`h2`,{id:`${t}-h`,children:`Search`}),(0,x.jsxs)(`form`,{role:`search`,className:`f-form`,onSubmit:e=>{e.preventDefault(),!s&&o&&a(o)},noValidate:!0,children:[(0,x.jsx)(`label`,{htmlFor:`${t}-q`,className:`f-label`,children:`Search messages`}),(0,x.jsxs)(`div`,{className:`f-row`,children:[(0,x.jsx)(`input`,{id:`${t}-q`,type:`search`,value:n,maxLength:400,autoComplete:`off`,"aria-invalid":s?!0:void 0,"aria-describedby":`${t}-hint`,onChange:e=>r(e.target.value)}),(0,x.jsx)(`button`,{type:`submit`,disabled:!!s||o===``,children:`Search`})]}),(0,x.jsx)(`p`,{id:`${t}-hint`,className:`f-hint`,children:`Whole words, any case. Use "quotes" for a phrase, or between alternatives, and -word to leave a word out.`}),s&&(0,x.jsx)(`p`,{role:`alert`,className:`f-error`,children:s})]}),l!==``&&(0,x.jsx)(`ol`,{className:`f-hits`,"aria-label":`Results`,children:g.map((e,t)=>(0,x.jsx)(w,{search:l,after:e,first:t===0,last:t===g.length-1,onMore:e=>h({search:l,cursors:[...g,e]})},e??``))})]})}function w(e){let{viewer:t}=i(),n=t?.id??``,r=(0,p.useMemo)(()=>h(e.search),[e.search]),[{data:u,fetching:d,error:f},m]=c({query:S,variables:{text:e.search,first:20,after:e.after},requestPolicy:`cache-and-network`});if(!u)return(0,x.jsx)(`li`,{className:`f-hits-status`,children:f?(0,x.jsxs)(x.Fragment,{children:[(0,x.jsx)(`p`,{role:`alert`,className:`f-error`,children:s(f)}),(0,x.jsx)(`button`,{type:`button`,onClick:()=>m({requestPolicy:`network-only`}),children:`Try again`})]}):(0,x.jsx)(`p`,{className:`f-muted`,role:`status`,children:d?`Searching…`:``})});let{nodes:g,pageInfo:C}=u.searchMessages;return(0,x.jsxs)(x.Fragment,{children:[e.first&&g.length===0&&(0,x.jsx)(`li`,{className:`f-hits-status`,children:(0,x.jsxs)(`p`,{className:`f-muted`,role:`status`,children:[`No messages found for “`,e.search,`”.`]})}),g.map(e=>(0,x.jsx)(`li`,{className:`f-hit`,children:(0,x.jsxs)(a,{href:`/c/${e.session.id}`,className:`f-hit-link`,children:[(0,x.jsx)(o,{name:e.sender.displayName,url:e.sender.avatar?.url,size:36}),(0,x.jsxs)(`span`,{className:`f-hit-main`,children:[(0,x.jsxs)(`span`,{className:`f-hit-meta`,children:[(0,x.jsx)(`span`,{className:`f-strong`,children:b(e.sender,n)}),(0,x.jsx)(`span`,{className:`f-muted`,"aria-hidden":`true`,children:`·`}),(0,x.jsxs)(`span`,{className:`f-hit-place`,children:[(0,x.jsx)(`span`,{className:`f-sr-only`,children:`in `}),y(e.session,n)]}),(0,x.jsx)(`time`,{className:`f-hit-time f-muted`,dateTime:e.createdAt,children:l(e.createdAt)})]}),(0,x.jsx)(`span`,{className:`f-hit-body`,children:e.body===null||e.body===void 0?(0,x.jsx)(`em`,{className:`f-muted`,children:`Deleted message`}):_(v(e.body,r),r).map((e,t)=>e.match?(0,x.jsx)(`mark`,{children:e.text},t):(0,x.jsx)(`span`,{children:e.text},t))})]})]})},e.id)),e.last&&C.hasNextPage&&C.endCursor&&(0,x.jsx)(`li`,{className:`f-hits-status`,children:(0,x.jsx)(`button`,{type:`button`,disabled:d,onClick:()=>e.onMore(C.endCursor),children:`Load more`})})]})}export{C as SearchMessages};